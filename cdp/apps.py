from django.apps import AppConfig


class CdpConfig(AppConfig):
    name = "cdp"
    verbose_name = "CDP"

    def ready(self) -> None:
        from cdp import timeline

        timeline.register()
