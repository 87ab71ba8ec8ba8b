"""`python -m usagectl`"""

from usagectl.cli import run

if __name__ == "__main__":
    run()
