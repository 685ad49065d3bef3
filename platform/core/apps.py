from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Radloop core"

    def ready(self) -> None:
        # Before any URLconf is imported: the api_urls modules use <id:...> path converters.
        from core.converters import register

        register()
