"""Raw SQL of delivery, only for paths bench/ measured (CONTRIBUTING.md "Raw SQL")."""
