"""The live classroom: scenarios, tutor instructions, call signalling, metering and billing.

calls.py holds the use cases the classroom page and /api/realtime/calls call;
lifecycle.py is the only writer of a call's session row; sideband.py follows each live
call over the Realtime sideband (with meter.py and transcript.py); recovery.py handles
calls left open by a server that stopped. README "Calls on the server" has the map.
"""
