"""Test helpers shared by every test folder."""
