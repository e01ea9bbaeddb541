// Fixtures run side by side: most of an integration test is waiting (for a server to start, a client to sign in, a
// configured deadline to fire), so three at a time roughly halves the suite on 2 cores. Every fixture owns its servers,
// ports (Paths.FreePort never hands one out twice) and temp dirs. The drills, which measure behaviour under a paced
// flow and a restart, stay [NonParallelizable]: they run alone, after the others.
[assembly: NUnit.Framework.Parallelizable(NUnit.Framework.ParallelScope.Fixtures)]
[assembly: NUnit.Framework.LevelOfParallelism(3)]
