"""Certificate discovery and validation: folders, TLS endpoints, signed documents, trust anchors."""
