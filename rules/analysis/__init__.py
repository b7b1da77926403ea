"""Analyses shared by several rule families (roles of functions, value provenance). No rules here."""
