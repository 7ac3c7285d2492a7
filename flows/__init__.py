"""Prefect flows: they orchestrate the cycle; every task calls one kaoping service."""
