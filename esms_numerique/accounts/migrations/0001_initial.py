# The Profile model moves from the dossiers app to accounts; its table stays where it is.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('dossiers', '0002_initial'),
        ('registry', '0001_initial'),
        ('sons', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Profile',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('role', models.CharField(choices=[('porteur', 'Porteur / organisme gestionnaire'), ('instructeur_ars', 'Instructeur ARS'), ('instructeur_national', 'Instructeur national (CNSA/DNS)'), ('observateur', 'GRADeS / collectif SI (lecture)'), ('editeur', 'Éditeur (SONS)'), ('administrateur', 'Administrateur')], max_length=32, verbose_name='rôle')),
                        ('region', models.CharField(blank=True, help_text='Pour un instructeur ARS ou un observateur régional.', max_length=2, verbose_name='région (code INSEE)')),
                        ('editor', models.ForeignKey(blank=True, help_text="Pour un utilisateur d'un éditeur (SONS).", null=True, on_delete=django.db.models.deletion.PROTECT, to='sons.editor', verbose_name='éditeur')),
                        ('legal_entity', models.ForeignKey(blank=True, help_text='Pour un porteur.', null=True, on_delete=django.db.models.deletion.PROTECT, to='registry.legalentity', verbose_name='organisme gestionnaire')),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='profile', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'profil',
                        'verbose_name_plural': 'profils',
                        'db_table': 'dossiers_profile',
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
