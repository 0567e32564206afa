"""CRM factories (contacts, companies). Other CRM tests import these."""

from __future__ import annotations

import factory

from crm.models import Company, Contact, ContactEmail, ContactPhone, CustomFieldDefinition


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example")
    industry = "Software"
    size = Company.Size.S11


class ContactFactory(factory.django.DjangoModelFactory):
    """A contact with its primary email row (``email`` kept in sync as the services would)."""

    class Meta:
        model = Contact
        skip_postgeneration_save = True

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    lifecycle_stage = Contact.Lifecycle.LEAD

    @factory.post_generation
    def primary_email(self, create, extracted, **kwargs):
        if create and self.email:
            ContactEmail.objects.create(contact=self, email=self.email, is_primary=True)

    @factory.post_generation
    def phones(self, create, extracted, **kwargs):
        """``phones=["+4930123456", ...]`` adds E.164 phones; the first becomes ``contact.phone``."""
        if create and extracted:
            for number in extracted:
                ContactPhone.objects.create(contact=self, number=number)
            self.phone = extracted[0]
            self.save(update_fields=["phone"])


class CustomFieldDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomFieldDefinition

    object_type = CustomFieldDefinition.ObjectType.CONTACT
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.Sequence(lambda n: f"Field {n}")
    field_type = CustomFieldDefinition.FieldType.TEXT
