"""The local stack on embedded defaults: PostgreSQL from a wheel, the Tansu broker, an SMTP inbox."""
