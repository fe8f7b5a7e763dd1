"""The public pages (/, /pricing, /faq, /about) served as plain prerendered HTML.

They are still written as Reflex pages (fluentio/pages), and the app still renders them
when a learner navigates inside it; but a visitor who opens one directly gets the
production build's prerendered HTML without the app's JavaScript, with only the CSS it
uses inlined, and the header, footer and calls to action for who they are, decided on
the server from the session cookie (fluentio.components.auth_switch marks the parts).
"""
