"""Tests of the local Genesys Cloud simulator."""
