"""The local stand-ins for the outside systems the app uses, so `make run` needs no key.

- openai_app.py: OpenAI's endpoints, when OPENAI_API_KEY is unset — a WebRTC peer
  speaking the Realtime protocol with scripted tutor speech, Responses and Speech;
- dodo.py: Dodo Payments' API and a test checkout, when DODO_PAYMENTS_API_KEY is unset.
"""
