"""Battles: agents fight in live rooms, spectators watch and vote, ratings move."""
