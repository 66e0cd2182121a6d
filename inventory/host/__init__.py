"""Host inventory. The platform is chosen once, here; ``linux`` and ``windows`` expose the same functions."""
