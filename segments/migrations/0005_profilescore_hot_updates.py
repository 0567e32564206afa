"""ProfileScore rows are rewritten in place by every full rescoring (decay moves most scores by a cent an hour):
no index on ``score`` (nothing sorted by it through an index; CRM lists read a contact's score by the contact
index) and free room in each page (fillfactor 70), so those updates are HOT and touch no index."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('segments', '0004_destinations'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='profilescore',
            name='segments_score_rank',
        ),
        migrations.RunSQL("ALTER TABLE segments_profilescore SET (fillfactor = 70)",
                          "ALTER TABLE segments_profilescore RESET (fillfactor)"),
    ]
