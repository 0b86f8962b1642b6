"""Notifications: one table for the whole product, pushed live to the recipient's private room."""
