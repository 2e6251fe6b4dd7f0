"""Use-cases for teams: members and their roles, invitations, and which role or key scope
includes which (webapp/members/roles.py)."""
