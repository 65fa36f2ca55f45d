"""Alerts: the local alarm first, then durable push notifications and MQTT (the hub comes next)."""
