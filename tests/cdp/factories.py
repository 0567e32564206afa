"""CDP factories (sources, profiles with identifiers, accounts, read tokens). Events go through the one ingestion
path instead (tests/cdp/identity_support.py: ``ingest``), so that they are stored and resolved as in production."""

from __future__ import annotations

import factory

from cdp.models import Account, Identifier, Profile, ReadToken, Source
from cdp.services.read_tokens import PREFIX, token_hash
from cdp.services.sources import source_create


class SourceFactory(factory.django.DjangoModelFactory):
    """A source made by the service, so it has a hashed write key; the clear key is on ``source.write_key``."""

    class Meta:
        model = Source

    name = factory.Sequence(lambda n: f"Source {n}")
    kind = Source.Kind.SERVER

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return source_create(**kwargs)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    group_id = factory.Sequence(lambda n: f"account-{n}")
    traits = factory.LazyAttribute(lambda a: {"name": a.group_id.title()})


class ProfileFactory(factory.django.DjangoModelFactory):
    """A person's profile. ``identifiers=[("user_id", "42"), ...]`` gives it those identifiers; without them it gets
    one anonymous id of its own."""

    class Meta:
        model = Profile
        skip_postgeneration_save = True

    traits = factory.LazyFunction(dict)

    @factory.post_generation
    def identifiers(self, create, extracted, **kwargs):
        if not create:
            return
        pairs = extracted if extracted is not None else [("anonymous_id", f"anon-{self.pk}")]
        Identifier.objects.bulk_create([Identifier(type=t, value=v, profile=self) for t, v in pairs])


class ReadTokenFactory(factory.django.DjangoModelFactory):
    """A read token; its secret is ``token.raw`` (only the hash is stored, as read_token_create does)."""

    class Meta:
        model = ReadToken

    raw = factory.Sequence(lambda n: f"{PREFIX}factory-token-{n:06d}")
    name = factory.Sequence(lambda n: f"Token {n}")
    prefix = factory.LazyAttribute(lambda t: t.raw[:10])
    token_hash = factory.LazyAttribute(lambda t: token_hash(t.raw))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        raw = kwargs.pop("raw", None)
        token = super()._create(model_class, *args, **kwargs)
        token.raw = raw
        return token
