import os

# Playwright's sync API runs an event loop in the test thread; Django's ORM guard would refuse the
# live server's database access from it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
