"""EventProfile.event_name: the event's name next to its profile and time, indexed, so that per-profile event
counts by name read one narrow table (segments' event conditions). Existing rows are filled from their events;
a row inserted without it (NULL) gets it from its event by a trigger, so writers that do not know the column
(older code paths, test factories) keep it right. Identity resolution writes it directly ('' for no name)."""

from django.db import migrations, models

FILL = """
UPDATE cdp_eventprofile l SET event_name = COALESCE(e.event, '')
  FROM cdp_rawevent e WHERE e.id = l.event_id AND e.received_at = l.received_at AND l.event_name IS NULL
"""

TRIGGER = """
CREATE FUNCTION cdp_eventprofile_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT COALESCE(e.event, '') INTO NEW.event_name FROM cdp_rawevent e
   WHERE e.id = NEW.event_id AND e.received_at = NEW.received_at;
  RETURN NEW;
END $$;
CREATE TRIGGER cdp_eventprofile_name BEFORE INSERT ON cdp_eventprofile
  FOR EACH ROW WHEN (NEW.event_name IS NULL) EXECUTE FUNCTION cdp_eventprofile_name();
"""

UNTRIGGER = """
DROP TRIGGER IF EXISTS cdp_eventprofile_name ON cdp_eventprofile;
DROP FUNCTION IF EXISTS cdp_eventprofile_name();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('cdp', '0014_read_token_scopes'),
    ]

    operations = [
        migrations.AddField(
            model_name='eventprofile',
            name='event_name',
            field=models.TextField(blank=True, null=True),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.RunSQL(TRIGGER, UNTRIGGER),
        migrations.AddIndex(
            model_name='eventprofile',
            index=models.Index(fields=['event_name', 'timestamp'], include=('profile_id',), name='cdp_evprof_name_ts'),
        ),
    ]
