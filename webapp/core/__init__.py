"""The neutral core: types every layer may import; it imports nothing of the app."""
