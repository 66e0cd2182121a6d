"""The one PDF layout (``layout``): administrative documents of Decree 30/2020/ND-CP, fonts included.

Below the services, so that a service that renders (publishing) and the reports that build documents
both use it without importing each other.
"""
