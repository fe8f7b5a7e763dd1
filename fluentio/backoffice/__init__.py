"""The back office: find learners, read and move their credits, change roles, release
held payments, and the usage dashboard (service.py). The admin page (pages/admin.py) calls
it; every function checks the acting admin's role again.
"""
