from django.db import models


class Flight(models.Model):
    """The flights table as a Django developer would model it."""

    year = models.IntegerField()
    month = models.IntegerField()
    day = models.IntegerField()
    dep_time = models.IntegerField(null=True)
    sched_dep_time = models.IntegerField(null=True)
    dep_delay = models.FloatField(null=True)
    arr_time = models.IntegerField(null=True)
    sched_arr_time = models.IntegerField(null=True)
    arr_delay = models.FloatField(null=True)
    carrier = models.CharField(max_length=8)
    flight = models.IntegerField()
    tailnum = models.CharField(max_length=16, null=True)  # noqa: DJ001 -- the data has missing tail numbers
    origin = models.CharField(max_length=8)
    dest = models.CharField(max_length=8)
    air_time = models.FloatField(null=True)
    distance = models.FloatField(null=True)
    hour = models.IntegerField(null=True)
    minute = models.IntegerField(null=True)
    time_hour = models.DateTimeField()

    class Meta:
        app_label = "djangoflights"
        db_table = "flights_django"

    def __str__(self) -> str:
        return f"{self.carrier}{self.flight} {self.time_hour}"
