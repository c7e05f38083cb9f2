using Gateway.Aspire.Testing;

// One real PostgreSQL and one real Redis for the whole assembly; each test takes its own database.
[assembly: AssemblyFixture(typeof(PostgresServerFixture))]
[assembly: AssemblyFixture(typeof(RedisServerFixture))]
