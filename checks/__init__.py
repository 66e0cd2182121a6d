"""What we judge about equipment: a catalog of checks as data, and pure evaluators."""
