"""Local emulators of the networks' APIs: for the tests (started in a thread on a free port) and for the demo
(`make run` starts the VK one as a child process). They keep everything in memory and never call the network."""
