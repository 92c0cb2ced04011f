// cxx.cc - C++ on libkmm-malloc.so: operator new/delete, aligned new,
// exceptions (their objects come from malloc), containers, threads.
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

struct alignas(64) Line { char b[64]; };
struct alignas(4096) Page { char b[100]; };
struct alignas(65536) Big { int x; };

static char *volatile sink;

static int fail(const char *what)
{
	std::fprintf(stderr, "cxx: %s\n", what);
	return 1;
}

static long work(int seed)
{
	std::map<int, std::string> m;
	std::unordered_map<std::string, std::vector<int>> u;
	long sum = 0;
	for (int i = 0; i < 20000; i++) {
		m[(i * 7919 + seed) % 5000] = std::to_string(i) + std::string(i % 50, 'x');
		u[std::to_string(i % 777)].push_back(i);
		try {
			if (i % 10 == 0)
				throw std::runtime_error("exception number " + std::to_string(i));
		} catch (const std::exception &e) {
			sum += (long)std::string(e.what()).size();
		}
	}
	for (auto &kv : m)
		sum += (long)kv.second.size();
	for (auto &kv : u)
		sum += (long)kv.second.size();
	return sum;
}

int main()
{
	for (int i = 0; i < 100; i++) {
		Line *l = new Line[i + 1];
		Page *p = new Page;
		Big *b = new Big;
		if (reinterpret_cast<std::uintptr_t>(l) % 64)
			return fail("new Line[] not 64-aligned");
		if (reinterpret_cast<std::uintptr_t>(p) % 4096)
			return fail("new Page not 4096-aligned");
		if (reinterpret_cast<std::uintptr_t>(b) % 65536)
			return fail("new Big not 65536-aligned");
		delete[] l;
		delete p;
		delete b;
	}
	try {
		std::vector<char> v;
		v.reserve(std::size_t(1) << 62);
		return fail("huge reserve did not throw");
	} catch (const std::bad_alloc &) {
	} catch (const std::length_error &) {
	}
	try {
		sink = new char[std::size_t(1) << 44];  // kept: not elided
		return fail("huge new did not throw");
	} catch (const std::bad_alloc &) {
	}
	auto sp = std::make_shared<std::vector<std::string>>(1000, "shared");
	std::vector<std::thread> ts;
	std::vector<long> res(4);
	for (int t = 0; t < 4; t++)
		ts.emplace_back([&res, t] { res[t] = work(t); });
	for (auto &t : ts)
		t.join();
	long expect = work(0);
	if (res[0] != expect)
		return fail("threads disagree");
	std::printf("cxx: new/delete, aligned new, exceptions, containers, threads: ok (%ld, %zu)\n",
		    expect, sp->size());
	return 0;
}
