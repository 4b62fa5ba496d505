"""The CleverTap side: the Liquid dialect, profiles and rendering."""
