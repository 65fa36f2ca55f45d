"""The local set-up and status page, served by the running service (`fallwatch run` with web.port set).

    page = WebPage(cfg.web, config_path, pipeline)   # listens at once; page.port says where
    page.start()                                     # a daemon thread serves it
    page.close()

auth.py: the password hash and the logged-in sessions (cookie + CSRF token). zones.py: the bed zones
written into the config file. server.py: the pages and their routes.
"""
