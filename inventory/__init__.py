"""What equipment is: fact models, the wire contract, host and device collectors."""

__version__ = "0.1.0"
