"""Tests of the sinks against real peers (see ``services``)."""
