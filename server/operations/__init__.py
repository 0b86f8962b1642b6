"""The operations console: teams and roles (enforced by row-level security), agents as a fleet,
deployments, workflows, metrics, usage and budgets."""
