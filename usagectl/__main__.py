"""`python -m usagectl`"""

from usagectl.main import run

if __name__ == "__main__":
    run()
