import contextlib
import logging
from logging.config import fileConfig

from flask import current_app

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging, unless the app has set logging up already
# (webapp/logs.py: structured lines with the request id). Never disable the loggers that exist:
# that would silence the app's own loggers for the rest of the process.
if not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    # Flask-SQLAlchemy 3: the default engine.
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    # `flask db check` / autogenerate compare column types and server defaults too (not only
    # tables, columns and indexes). webapp/__init__.py already asks for batch operations.
    conf_args.setdefault("compare_type", True)
    conf_args.setdefault("compare_server_default", True)
    connectable = get_engine()

    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **conf_args
        )

        with _sqlite_foreign_keys_off(connection):
            with context.begin_transaction():
                context.run_migrations()


@contextlib.contextmanager
def _sqlite_foreign_keys_off(connection):
    """On SQLite, foreign keys off while migrations run, checked before they are back on.

    The app turns them on for every SQLite connection (webapp/extensions.py). A batch
    operation that rebuilds a table ("move and copy") drops the old one, and with foreign
    keys on that drop deletes, through ON DELETE CASCADE, every row that points at it:
    rebuilding `sources` would empty sync_runs, schema_snapshots and health_checks.
    """
    if connection.dialect.name != 'sqlite':
        yield
        return
    connection.exec_driver_sql('PRAGMA foreign_keys=OFF')  # a no-op inside a transaction
    connection.commit()
    if connection.exec_driver_sql('PRAGMA foreign_keys').scalar():
        raise RuntimeError('could not turn SQLite foreign keys off for the migrations')
    connection.commit()
    try:
        yield
        broken = connection.exec_driver_sql('PRAGMA foreign_key_check').fetchall()
        if broken:
            raise RuntimeError(f'migrations left rows with dangling foreign keys: {broken[:5]}')
    finally:
        connection.rollback()
        connection.exec_driver_sql('PRAGMA foreign_keys=ON')
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
