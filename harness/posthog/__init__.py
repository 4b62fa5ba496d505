"""The PostHog side: its capture contract, the payload checker and (later) the fake server."""
