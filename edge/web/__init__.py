"""The local set-up and status page, served by the running service (`fallwatch run` with web.port set).

    page = WebPage(cfg.web, config_path, pipeline)   # listens at once; page.port says where
    page.start()                                     # a daemon thread serves it
    page.close()

auth.py: the password hash, the logged-in sessions (cookie + CSRF token) and the limit on wrong
passwords. config_file.py: keys written into the config file, changing only their lines. settings.py:
the Settings section's data, and saving it (and the bed zones) with what applies live. history.py:
pages of the events log. state.py: what the page shows of the running pipeline and alert hub.
page.py: the HTML and script. server.py: the routes.
"""
