"""Launch buttons and the repository button only for a book that says where its repository is.

The Binder, Colab and JupyterHub buttons open a notebook from the book's public git repository, and the
repository button links to it: without a real repository every one of them leads to a dead page. So all
of them follow one setting, ``repository.url`` in ``_config.yml`` (README, "Launch buttons"):

- empty (the default): no launch buttons and no repository button; the notebook download button, which
  works anywhere, stays;
- a repository URL: the repository button, Binder and Colab (the services in ``launch_buttons``), and
  JupyterHub as well where ``launch_buttons.jupyterhub_url`` names a hub.

jupyter-book copies ``repository.url`` into the theme option ``repository_url``; this extension reads it
when the configuration is ready and sets ``use_repository_button`` and the theme's launch services to match.
"""

from __future__ import annotations

from sphinx.util import logging

logger = logging.getLogger(__name__)

_SERVICES = ("binderhub_url", "colab_url", "jupyterhub_url", "deepnote_url", "jupyterlite_url")


def launch_options(theme_options: dict) -> dict:
    """The theme options with launch and repository buttons on exactly when a repository is configured.

    Args:
        theme_options: ``html_theme_options`` as jupyter-book builds them from ``_config.yml``.

    Returns:
        A new dict: without a ``repository_url``, every launch service removed, ``use_repository_button``
        false and no ``repository_url`` key; with one, ``use_repository_button`` true and the launch
        services left as configured (empty ones removed).

    Raises:
        TypeError: if ``theme_options`` is not a dict, or its ``launch_buttons`` is not a dict.
    """
    if not isinstance(theme_options, dict):
        raise TypeError(f"theme_options must be a dict, got {type(theme_options).__name__}")
    options = dict(theme_options)
    launch = options.get("launch_buttons") or {}
    if not isinstance(launch, dict):
        raise TypeError(f"theme_options['launch_buttons'] must be a dict, got {type(launch).__name__}")
    repo = str(options.get("repository_url") or "").strip()
    if repo:
        options["repository_url"] = repo
        options["launch_buttons"] = {k: v for k, v in launch.items() if k not in _SERVICES or v}
    else:
        options.pop("repository_url", None)
        options["launch_buttons"] = {k: v for k, v in launch.items() if k not in _SERVICES}
    options["use_repository_button"] = bool(repo)
    return options


def _configure(app, config):
    config.html_theme_options = launch_options(config.html_theme_options or {})


def setup(app):
    app.connect("config-inited", _configure, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
