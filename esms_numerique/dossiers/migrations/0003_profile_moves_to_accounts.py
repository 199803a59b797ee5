from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('dossiers', '0002_initial'),
        ('accounts', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Profile')],
            database_operations=[],
        ),
    ]
