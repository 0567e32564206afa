"""Companies are accounts, never people: remove the person profiles that CRM companies' group calls created.

Before, a company's group call (anonymousId ``crm-company-<id>``) resolved to a person profile named "Profile N".
Identity resolution now takes such a message as the account's own. This migration drops every
``anonymous_id:crm-company-<id>`` identifier and then the profiles left with no identifier and no CRM contact (the
companies' profiles), with their event links and audit rows. A profile that also holds a person's identifiers
keeps them (only the company identifier goes). The raw events stay: the account keeps its traits.
"""

from django.db import migrations

COMPANY_ID = r"^crm-company-[0-9]+$"


def company_profiles_remove(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        cur.execute("DELETE FROM cdp_identifier WHERE type = 'anonymous_id' AND value ~ %s RETURNING profile_id",
                    [COMPANY_ID])
        holders = sorted({pid for (pid,) in cur.fetchall()})
        if not holders:
            return
        cur.execute(
            """
            SELECT p.id FROM cdp_profile p
             WHERE p.id = ANY(%s::bigint[]) AND p.crm_contact_id IS NULL
               AND NOT EXISTS (SELECT 1 FROM cdp_identifier i WHERE i.profile_id = p.id)
            """,
            [holders],
        )
        gone = [pid for (pid,) in cur.fetchall()]
        if not gone:
            return
        cur.execute("DELETE FROM cdp_eventprofile WHERE profile_id = ANY(%s::bigint[])", [gone])
        cur.execute("DELETE FROM cdp_profilemerge WHERE survivor_id = ANY(%s::bigint[]) OR merged_id = ANY(%s::bigint[])",
                    [gone, gone])
        cur.execute("DELETE FROM cdp_refusedmerge WHERE profile_id = ANY(%s::bigint[]) "
                    "OR other_profile_id = ANY(%s::bigint[])", [gone, gone])
        cur.execute("DELETE FROM cdp_identifiersplit WHERE from_profile_id = ANY(%s::bigint[]) "
                    "OR to_profile_id = ANY(%s::bigint[])", [gone, gone])
        cur.execute("UPDATE cdp_profile SET merged_into_id = NULL WHERE merged_into_id = ANY(%s::bigint[])", [gone])
        cur.execute("DELETE FROM cdp_profile WHERE id = ANY(%s::bigint[])", [gone])


class Migration(migrations.Migration):

    dependencies = [
        ("cdp", "0011_raw_event_name_index"),
    ]

    operations = [
        migrations.RunPython(company_profiles_remove, migrations.RunPython.noop, elidable=True),
    ]
