"""The developer console's domain: apps that organizations publish, their logos, and what the
consent screen and Connected apps show of their publisher. No HTTP types."""
