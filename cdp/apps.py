from django.apps import AppConfig


class CdpConfig(AppConfig):
    name = "cdp"
    verbose_name = "CDP"

    def ready(self) -> None:
        from cdp import timeline
        from cdp.demo import demo_behaviour_seed
        from crm.extensions import register_demo_seeder

        timeline.register()
        register_demo_seeder(demo_behaviour_seed)
