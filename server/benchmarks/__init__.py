"""The benchmark arena: tasks, entries, evaluation, leaderboards and the community around them."""
