"""Renderers: the same results as a rich table for people, JSON or plain lines for scripts."""
