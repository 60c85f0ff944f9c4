"""Thin commands: parse arguments, resolve the user, call one service, render."""
