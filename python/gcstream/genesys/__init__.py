"""Genesys Cloud REST: rate limiter, REST client, channels and subscriptions, discovery."""
