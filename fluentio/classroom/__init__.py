"""The live classroom: scenarios, tutor instructions, call signalling, metering and billing.

calls.py is the service the classroom page and /api/realtime/calls use; supervisor.py
follows each live call over the Realtime sideband; recovery.py handles calls left open
by a server that stopped.
"""
