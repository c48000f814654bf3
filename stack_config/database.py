"""Typed model of an RDS PostgreSQL instance the stack creates (`iglu.server.database`, `destinations.postgres.instance`)."""

from typing import Annotated, ClassVar

from pydantic import Field, ValidationInfo, field_validator

from stack_config.base import ConfigModel, environment_default, matching

InstanceClass = Annotated[
    str,
    matching(r"db\.[a-z][a-z0-9-]*\.[a-z0-9]+", "must be an RDS instance class such as db.t4g.small or db.r7g.large"),
]
MIN_GP3_GIB = 20  # RDS PostgreSQL's smallest gp3 volume
PROD_MIN_BACKUP_DAYS = 7


def _is_prod(info: ValidationInfo) -> bool:
    return environment_default(info, dev=False, prod=True)


class DatabaseInstance(ConfigModel):
    """Size, storage, availability and backups of one RDS PostgreSQL instance; defaults depend on the environment."""

    classes: ClassVar[tuple[str, str]] = ("db.t4g.micro", "db.t4g.small")  # (dev, prod) default instance class

    instance_class: InstanceClass | None = Field(None, validate_default=True)
    allocated_storage: int = Field(MIN_GP3_GIB, ge=MIN_GP3_GIB, le=1000)
    max_allocated_storage: int | None = Field(None, le=1000, validate_default=True)
    multi_az: bool | None = Field(None, validate_default=True)
    backup_retention_days: int | None = Field(None, ge=1, le=35, validate_default=True)
    performance_insights: bool | None = Field(None, validate_default=True)

    @field_validator("instance_class")
    @classmethod
    def _class_default(cls, value, info: ValidationInfo):
        return value if value is not None else environment_default(info, *cls.classes)

    @field_validator("max_allocated_storage")
    @classmethod
    def _autoscaling(cls, value, info: ValidationInfo):
        allocated = info.data.get("allocated_storage", MIN_GP3_GIB)
        if value is None:
            # prod grows storage on its own up to 100 GiB instead of stopping when the volume is full
            return 100 if _is_prod(info) and allocated < 100 else None
        if value <= allocated:
            raise ValueError(f"must exceed allocatedStorage ({allocated}) to enable storage autoscaling, or be unset")
        return value

    @field_validator("multi_az")
    @classmethod
    def _multi_az(cls, value, info: ValidationInfo):
        if value is None:
            return _is_prod(info)
        if value is False and _is_prod(info):
            raise ValueError("prod databases run Multi-AZ (a standby in a second AZ); remove the key or set true")
        return value

    @field_validator("backup_retention_days")
    @classmethod
    def _backups(cls, value, info: ValidationInfo):
        if value is None:
            return environment_default(info, dev=1, prod=PROD_MIN_BACKUP_DAYS)
        if value < PROD_MIN_BACKUP_DAYS and _is_prod(info):
            raise ValueError(f"prod keeps at least {PROD_MIN_BACKUP_DAYS} days of automated backups")
        return value

    @field_validator("performance_insights")
    @classmethod
    def _insights(cls, value, info: ValidationInfo):
        return value if value is not None else _is_prod(info)
