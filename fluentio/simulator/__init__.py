"""The local stand-in for the OpenAI endpoints the app uses (see openai_app.py).

It answers when OPENAI_API_KEY is unset, so `make run` gives a working voice session with
no key: a WebRTC peer speaking OpenAI's Realtime protocol with scripted tutor speech.
"""
